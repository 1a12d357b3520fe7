"""Security: API keys, station passwords and certificates, security events."""
