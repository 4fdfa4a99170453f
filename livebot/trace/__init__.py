"""Traceability data: EPCIS 2.0 import, REST pushes, factory telemetry, Digital Link and chat lookups."""
