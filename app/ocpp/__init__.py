"""The OCPP-J adapter: a neutral core (websocket server, admission, TLS, framing, limits,
audit, router, gateway) and one version adapter per subprotocol (``v16``: OCPP 1.6J)."""
