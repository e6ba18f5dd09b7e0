"""Network adapters for TLS: probing live servers (``certgate.tls.probe``)."""
