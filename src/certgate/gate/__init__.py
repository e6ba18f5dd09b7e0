"""``certgate serve``: the mTLS gate (Twisted + pyOpenSSL), its policy file and its logs."""
