"""``manage.py embed_products``: embed the catalogue for semantic search."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from retail.embeddings import PROVIDER_NAMES, get_provider
from retail.errors import ZavaError
from retail.models import Product
from retail.services.product_embeddings import embed_products


class Command(BaseCommand):
    help = (
        'Embed every product as "{name}. {description}" into '
        "retail.product_description_embeddings. Incremental by default: only products that "
        "have no vector or whose text changed are embedded. A provider whose model differs "
        "from the stored vectors needs --rebuild (which also resizes the vector column); "
        "switching to OpenAI is: embed_products --provider openai --rebuild."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--provider",
            choices=PROVIDER_NAMES,
            default=None,
            help="Embedding provider (default: ZAVA_EMBEDDING_PROVIDER, else local).",
        )
        parser.add_argument(
            "--rebuild", action="store_true", help="Replace every stored embedding."
        )
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Texts per model call (default 64)."
        )

    def handle(self, *args, **options) -> None:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            provider = get_provider(options["provider"])
            bar = tqdm(
                total=Product.objects.count(),
                desc=f"Embedding ({provider.model_name})",
                unit=" products",
                disable=options["verbosity"] == 0,
                file=self.stderr,
            )
            with bar:
                summary = embed_products(
                    provider=provider,
                    rebuild=options["rebuild"],
                    batch_size=options["batch_size"],
                    progress=bar.update,
                )
                bar.update(summary.unchanged)
        except ZavaError as exc:
            raise CommandError(exc.message) from exc
        if options["verbosity"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Embedded {summary.embedded} products, {summary.unchanged} unchanged, "
                    f"with {summary.model_name} ({summary.dimensions} dimensions) "
                    f"in {summary.seconds:.1f} s."
                )
            )
