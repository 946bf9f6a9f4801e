"""Mock public-service portals (OIDC relying parties). They know the IdP only over HTTP."""
