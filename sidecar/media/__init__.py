"""What every media kind shares: the kind value, its job graph, and the steps written once for all kinds."""
