"""One module per endpoint group of the OpenID Connect provider."""
