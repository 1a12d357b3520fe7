"""chargeplan: an OCPP 1.6J smart-charging controller."""
