"""English words for a Russian question about an English paper: the passages' search (BM25)
matches only words the two share, and a Russian question shares few with the paper.

A small glossary of the field's vocabulary, looked up by the start of each Russian word
(«обучали», «обучения» → «обуч»), so that «Какой оптимизатор использовали при обучении?»
also searches "optimizer", "training". Pure; written before any question it was measured on
(bench/ask.py).
"""

from __future__ import annotations

import re

_CYRILLIC_WORD = re.compile(r"[а-я]{3,}")

# (starts of Russian words, written with е for ё, and the English words they add). Longer starts
# are tried first, so a specific entry wins over a general one sharing its start.
GLOSSARY: tuple[tuple[tuple[str, ...], str], ...] = (
    (("датасет", "данны", "корпус", "выборк"), "dataset datasets data corpus"),
    (("обуч", "натрен", "тренир"), "training train trained"),
    (("предобуч",), "pretraining pretrained pre-training"),
    (("дообуч", "файнтюн", "тонк"), "fine-tuning fine-tuned finetuning"),
    (("точност",), "accuracy precision"),
    (("полнот",), "recall"),
    (("сравн", "против"), "compared comparison baseline baselines"),
    (("базов", "бейзлайн"), "baseline baselines base"),
    (("гиперпарам",), "hyperparameters learning rate batch size"),
    (("скорост",), "rate speed throughput"),
    (("оптимизат",), "optimizer adam"),
    (("модел",), "model models"),
    (("метрик",), "metric metrics score"),
    (("оцен",), "evaluation evaluate evaluated"),
    (("результат", "итог"), "results result"),
    (("огранич", "недостат", "слабост", "минус"), "limitations limitation limited"),
    (("архитект", "устро"), "architecture layers"),
    (("слой", "слоев", "слоя"), "layer layers"),
    (("параметр",), "parameters"),
    (("вычисл", "ресурс", "затрат", "стоимост"), "compute computational cost flops"),
    (("видеокарт", "гпу", "графическ", "ускорител"), "gpu gpus tpu hardware"),
    (("времен", "время", "долго", "часов", "часа", "дней", "сутк"), "time hours days"),
    (("задач",), "task tasks"),
    (("внимани",), "attention"),
    (("энкодер", "кодировщ"), "encoder"),
    (("декодер",), "decoder"),
    (("эксперимент", "опыт"), "experiments experiment setup"),
    (("аблац",), "ablation"),
    (("обобщ",), "generalization generalize"),
    (("ошиб",), "error errors"),
    (("пример",), "examples example"),
    (("человек", "люд", "разметчик", "асессор", "аннотатор", "эксперт"), "human annotators experts"),
    (("награ", "вознагражд", "ревард"), "reward rewards"),
    (("подкреплен",), "reinforcement rl"),
    (("рассужд",), "reasoning"),
    (("токен",), "tokens token"),
    (("длин",), "length long"),
    (("контекст",), "context"),
    (("размер",), "size"),
    (("тест",), "test"),
    (("валидац",), "validation"),
    (("перевод",), "translation"),
    (("язык",), "language"),
    (("генерац", "генерир"), "generation generate"),
    (("поиск", "извлеч"), "search retrieval"),
    (("стать", "статей"), "paper papers"),
    (("код", "программ"), "code"),
    (("будущ", "дальнейш"), "future work"),
    (("улучш", "прирост", "лучше"), "improvement improves outperforms"),
    (("хуже", "провал"), "worse fails"),
    (("агент",), "agent agents"),
    (("таблиц",), "table tables"),
    (("граф",), "graph"),
    (("суммариз", "аннотир", "реферир", "пересказ"), "summarization summary summaries"),
    (("вопрос",), "question questions"),
    (("ответ",), "answer answers"),
    (("математ",), "math mathematical"),
    (("словар",), "vocabulary"),
    (("регуляр", "дропаут"), "regularization dropout"),
    (("батч", "пакет"), "batch"),
    (("шаг",), "steps step"),
    (("эпох",), "epochs"),
    (("масштаб",), "scaling scale"),
    (("инструмент",), "tools tool"),
    (("лиценз",), "license"),
    (("открыт",), "open source released"),
    (("примен", "использ"), "use used using"),
    (("метод", "подход", "способ"), "method approach"),
    (("смес",), "mixture experts moe"),
    (("дистил",), "distillation distilled"),
    (("чемпион", "выигр", "соревн"), "competition"),
)
_BY_START = sorted(((start, terms) for starts, terms in GLOSSARY for start in starts), key=lambda e: -len(e[0]))


def english_terms(question: str) -> list[str]:
    """The English words the glossary gives for the question's Russian words, each once."""
    found: dict[str, None] = {}
    for word in _CYRILLIC_WORD.findall(question.lower().replace("ё", "е")):
        for start, terms in _BY_START:
            if word.startswith(start):
                found.update(dict.fromkeys(terms.split()))
                break
    return list(found)
