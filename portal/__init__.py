"""The online portal: halls' live waiting figures, ticket lookup, booking, open API."""
