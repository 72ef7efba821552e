"""Stage 4, report: every format people read (terminal, HTML, XML, JSON, LCOV, Markdown,
badges, dashboard, masking matrix, recommendations), built staged and published whole."""
