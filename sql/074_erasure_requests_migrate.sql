-- Adds the erasure audit's columns a warehouse bootstrapped before them lacks (073); a no-op once they exist.
CALL {{schema}}.migrate_erasure_requests();
