"""When and who works: the dispatcher, period reports and scheduled triggers."""
