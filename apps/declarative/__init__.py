"""Declarative configuration: the catalog, plans and clients as one YAML file.

It sits above the apps whose rows it writes (catalog, routing's strategies, billing, accounts);
none of them imports it. The entry points are in apps.declarative.services and the commands
gateway_apply, gateway_dump and gateway_demo.
"""
