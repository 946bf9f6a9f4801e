"""The HTTP edge of the identity service: routes parse, call a service, render."""
