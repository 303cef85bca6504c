"""The Asana door: the project webhooks' handshake and signed deliveries."""
