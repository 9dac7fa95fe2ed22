"""The one exception tree of paperdigest.

    PaperdigestError
    ├── ConfigError                 a setting is missing or malformed
    ├── ArxivError
    │   ├── BadArxivId              the text is not an arXiv identifier (no network call made)
    │   ├── PaperNotFound           arXiv knows no such paper
    │   ├── PaperWithdrawn          the paper exists but has no PDF
    │   └── ArxivUnavailable        429/503/timeouts that outlived the retries
    ├── PdfError
    │   ├── PdfDownloadError        not a PDF, too large, too slow
    │   ├── PdfEncrypted            needs a password
    │   ├── PdfCorrupt              pdfium cannot open it
    │   ├── PdfNoText               no text layer (scanned images)
    │   └── PdfExtractionFailed     the extractor crashed, ran out of memory or time
    ├── ReviewError
    │   ├── LlmUnavailable          429/5xx/timeouts that outlived the retries
    │   ├── LlmQuotaExceeded        insufficient_quota: retrying cannot help
    │   ├── LlmRejected             the endpoint refused the request (auth, bad model, ...)
    │   ├── LlmContextTooLong       the input exceeded the model's context (the pipeline shrinks once)
    │   └── ReviewInvalid           the review failed validation twice
    ├── JobError                    a job cannot run (e.g. nothing to resume)
    ├── SiteError                   the digest site cannot be built (search indexing failed, ...)
    └── DatabaseCopyError           `db copy` refused or failed; nothing was written to the target

Every message says what failed, the offending value, and what to do next.
`user_message` is the same thing in one short Russian sentence, for Telegram.
"""

from __future__ import annotations


class PaperdigestError(Exception):
    """Base class; `str(err)` is an English one-liner for the CLI and logs."""

    user_message = "Что-то пошло не так; попробуйте ещё раз позже."
    retryable = False

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the service asked us to wait, if it said


class ConfigError(PaperdigestError):
    user_message = "Бот настроен неправильно; администратор уже может это увидеть в логах."


class ArxivError(PaperdigestError):
    user_message = "arXiv ответил ошибкой; попробуйте позже."


class BadArxivId(ArxivError):
    user_message = (
        "Это не похоже на идентификатор arXiv. Пришлите, например, 2412.06769, "
        "arXiv:2412.06769v2, https://arxiv.org/abs/2412.06769 или hep-th/9901001."
    )


class PaperNotFound(ArxivError):
    user_message = "На arXiv нет статьи с таким идентификатором; проверьте номер."


class PaperWithdrawn(ArxivError):
    user_message = "Авторы отозвали эту статью: у неё нет PDF, рецензировать нечего."


class ArxivUnavailable(ArxivError):
    user_message = "arXiv сейчас недоступен или просит подождать; запрос сохранён, повторим позже."
    retryable = True


class PdfError(PaperdigestError):
    user_message = "Не удалось прочитать PDF этой статьи."


class PdfDownloadError(PdfError):
    user_message = "Не удалось скачать PDF статьи (файл повреждён, слишком велик или не отдаётся)."


class PdfEncrypted(PdfError):
    user_message = "PDF статьи зашифрован паролем, прочитать его нельзя."


class PdfCorrupt(PdfError):
    user_message = "PDF статьи повреждён и не открывается."


class PdfNoText(PdfError):
    user_message = "В PDF нет текстового слоя (это сканы страниц); без распознавания текста рецензию не написать."


class PdfExtractionFailed(PdfError):
    user_message = "Извлечение текста из PDF не уложилось в ограничения по времени или памяти."


class ReviewError(PaperdigestError):
    user_message = "Не удалось написать рецензию."


class LlmUnavailable(ReviewError):
    user_message = "Языковая модель сейчас недоступна; запрос сохранён, повторим позже."
    retryable = True


class LlmQuotaExceeded(ReviewError):
    user_message = "У сервиса закончилась квота языковой модели; администратор уже знает."


class LlmRejected(ReviewError):
    user_message = "Языковая модель отклонила запрос; администратор уже знает."


class LlmContextTooLong(ReviewError):
    user_message = "Статья не помещается в контекст языковой модели."

    def __init__(self, message: str = "", *, limit_tokens: int | None = None) -> None:
        super().__init__(message)
        self.limit_tokens = limit_tokens  # the model's context size, when the error said it


class ReviewInvalid(ReviewError):
    user_message = "Рецензия не прошла проверку качества."


class JobError(PaperdigestError):
    pass


class SiteError(PaperdigestError):
    pass


class DatabaseCopyError(PaperdigestError):
    pass
