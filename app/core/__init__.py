"""Cross-cutting building blocks: column types, session, mixins, audit, mail, base views."""
