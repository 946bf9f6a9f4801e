"""The mock national population database: ID numbers, citizens, households, units.

A library with its own database URL. It never imports ``identity_service`` or
``portals``; other packages read citizens only through ``population_db.registry``.
"""
