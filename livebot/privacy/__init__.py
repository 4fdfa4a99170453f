"""Personal data of viewers: retention limits, erasure on request, records of processing (PIPL)."""
