"""What every demo portal shares: settings, the e-ID (OIDC) client, sessions, pages."""
