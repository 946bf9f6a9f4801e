"""The e-identification and authentication service (the IdP): e-ID accounts, the OpenID
Connect provider, keys and tokens. Reads citizens only through ``population_db.registry``.
"""
