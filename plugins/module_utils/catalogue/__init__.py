"""The CIS catalogue (cis_catalogue.yml), its expression language and checks, and what the components' binaries accept."""
