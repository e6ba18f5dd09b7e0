-- certgate for HAProxy 2.6+: an auth sub-request to `certgate authz --proxy haproxy`, made with
-- HAProxy's own HTTP client (core.httpclient; no lua-socket, nothing else to install).
--
--   global
--       lua-load /etc/haproxy/certgate.lua
--   frontend https
--       bind :443 ssl crt /etc/haproxy/site.pem verify optional ca-file /etc/haproxy/ca.pem ca-ignore-err all crt-ignore-err all
--       http-request lua.certgate http://127.0.0.1:9180/_certgate
--
-- certgate judges the certificate HAProxy received on this TLS connection (ssl_c_der), never a
-- header the client sent. Allowed (2xx): the request goes on with certgate's Certgate-* headers
-- (any the client sent are removed first). Denied (401/403): the client gets certgate's status,
-- Certgate-* headers and body. certgate unreachable or any other answer: 500 (fail closed).
-- Shipped with certgate (certgate/gate/proxies/certgate.lua); see docs/proxies.md.

local PASSED_TO_CLIENT = { ["content-type"] = true, ["cache-control"] = true }

local function certgate_headers(headers)
    local found = {}
    for name, values in pairs(headers or {}) do
        local lower = string.lower(name)
        if string.sub(lower, 1, 9) == "certgate-" then
            found[lower] = values[0] or values[1]
        end
    end
    return found
end

local function deny(txn, status, headers, body)
    local reply = txn:reply()
    reply:set_status(status)
    for name, value in pairs(headers) do
        reply:add_header(name, value)
    end
    reply:set_body(body or "")
    txn:done(reply)
end

core.register_action("certgate", { "http-req" }, function(txn, url)
    local der = txn.f:ssl_c_der()
    local cert = ""
    if der ~= nil and der ~= "" then
        cert = txn.c:base64(der)
    end
    local asked = {
        ["x-ssl-client-der"] = { cert },
        ["x-original-uri"] = { txn.f:url() or "/" },
    }
    local accept = txn.f:req_fhdr("accept")
    if accept ~= nil and accept ~= "" then
        asked["accept"] = { accept }
    end
    -- the client's own Certgate-* headers never reach the application
    for name, _ in pairs(txn.http:req_get_headers()) do
        if string.sub(string.lower(name), 1, 9) == "certgate-" then
            txn.http:req_del_header(name)
        end
    end
    local ok, response = pcall(function()
        return core.httpclient():get{ url = url, headers = asked, timeout = 10000 }
    end)
    local status = ok and response ~= nil and tonumber(response.status) or nil
    if status == nil then
        deny(txn, 500, { ["content-type"] = "text/plain" }, "certgate authz did not answer\n")
        return
    end
    local answered = certgate_headers(response.headers)
    if status >= 200 and status < 300 then
        for name, value in pairs(answered) do
            txn.http:req_set_header(name, value)
        end
        return
    end
    if status ~= 401 and status ~= 403 then
        deny(txn, 500, { ["content-type"] = "text/plain" }, "certgate authz answered " .. status .. "\n")
        return
    end
    for name, values in pairs(response.headers or {}) do
        if PASSED_TO_CLIENT[string.lower(name)] then
            answered[string.lower(name)] = values[0] or values[1]
        end
    end
    deny(txn, status, answered, response.body)
end, 1)
