from paperdigest.cli import app

app(prog_name="paperdigest")
