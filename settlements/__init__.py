"""The input contract: schema, readers, validation and quarantine, pseudonymisation,
the synthetic world and importers."""
