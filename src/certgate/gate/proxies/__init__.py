"""Proxy-side files shipped with certgate (the HAProxy Lua action, docs/proxies.md)."""
