"""Strategies: ``strategy(chain, **options) -> Plan``, looked up by name in one registry."""
