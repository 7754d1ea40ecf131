"""What a person asks for: generate (plain or verified), edit, stylize, caption."""
