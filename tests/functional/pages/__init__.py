"""Page objects, one module per area: what a person can see and do on each page, in the words
the page uses (Chinese). Tests read as the journey; selectors live here."""
