"""The report's sections: each a pure function of the year's context returning what the section shows (text, disclosed tables, figures); :mod:`analysis.report.writer` saves and displays them."""
