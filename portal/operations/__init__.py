"""Operations: rate limits, metrics, logging, health probes and request guards."""
