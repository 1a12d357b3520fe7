"""The OCPP 1.6J adapter: websocket server, framing, validation, handlers, gateway, audit."""
