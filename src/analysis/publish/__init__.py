"""What every published page shares: disclosure control, figures, tables, data-quality summaries and rendering to self-contained HTML."""
