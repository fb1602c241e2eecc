"""What the articles app announces. Other apps subscribe from their own files."""

from django.dispatch import Signal

# Sent inside the transaction that publishes articles, with `article_ids` (the articles it
# made public) and `using` (its database). A receiver that reaches beyond the database (a
# message, an email) defers that with `transaction.on_commit(..., using=using)`, so that a
# rollback takes the announcement back with the publication.
article_published = Signal()
