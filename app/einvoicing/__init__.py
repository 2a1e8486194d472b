"""Electronic invoicing (issue 18): Factur-X (EN 16931 CII) and Chorus Pro deposits."""
