"""End-to-end scenario harness for sipalg (network namespaces, real SIP software)."""
