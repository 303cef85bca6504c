"""What people see: the OKR panel (Confluence macro, Jira project page, Forge shell), the Jira issue
panel and glance, check-in forms; rendered from view values, with no database or request."""
