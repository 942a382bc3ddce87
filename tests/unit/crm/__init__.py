"""Unit tests of the customer-records layer (crm/)."""
