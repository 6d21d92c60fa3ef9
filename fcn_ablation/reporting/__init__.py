"""From stored records to tables, figures and the W&B report; imports no torch."""
