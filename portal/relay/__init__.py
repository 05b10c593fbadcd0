"""The relay: request file in, License API called once, result kept and served."""
