"""People's names in Latin, Arabic, Chinese and Cyrillic script, and how one is drawn."""

from __future__ import annotations

import random

Name = tuple[str, str, str]
"""``name``, ``sortable_name``, ``short_name``."""

_LATIN_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofía", "Lucas", "Isabella", "Ethan",
    "Mia", "James", "Amelia", "Benjamin", "Harper", "Elijah", "Camila", "Daniel", "Chloé",
    "Zoë", "José", "Renée", "Björn", "Ingrid", "Aaliyah", "Jamal", "Priya", "Arjun", "Kwame",
    "Ama", "Siobhán", "Mathéo", "Leilani", "Kai", "Ximena", "Santiago", "Nia", "Oluwaseun",
    "Hana", "Minh",
)  # fmt: skip
_LATIN_LAST = (
    "Smith", "García", "Johnson", "Martínez", "Brown", "Nguyen", "O'Connor", "Müller",
    "Kowalski", "Rossi", "Dubois", "Hernández", "Kim", "Patel", "Okafor", "Silva",
    "Johansson", "van der Berg", "López", "Wilson", "Begay", "Yazzie", "Tran", "Mensah",
    "Schmidt", "Novák", "Ó Briain", "Fernández-Ortega", "Jackson", "Nakamura",
)  # fmt: skip
_ARABIC_FIRST = ("محمد", "فاطمة", "أحمد", "مريم", "علي", "نور", "يوسف", "ليلى", "عمر", "سارة")
_ARABIC_LAST = ("العلي", "حسن", "الخطيب", "منصور", "حداد", "عبد الله", "الشامي", "يوسف")
_CHINESE_FAMILY = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴")
_CHINESE_GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "强", "磊", "洋", "艳", "嘉怡", "子轩")
_CYRILLIC_FIRST = ("Анна", "Иван", "Мария", "Дмитрий", "Ольга", "Алексей", "Екатерина", "Сергей")
_CYRILLIC_LAST = ("Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Волкова", "Лебедев")


def person_name(rng: random.Random) -> Name:
    """A name in one of several scripts (Chinese names are one word, in every field)."""
    r = rng.random()
    if r < 0.76:
        first, last = rng.choice(_LATIN_FIRST), rng.choice(_LATIN_LAST)
    elif r < 0.85:
        first, last = rng.choice(_ARABIC_FIRST), rng.choice(_ARABIC_LAST)
    elif r < 0.93:
        name = rng.choice(_CHINESE_FAMILY) + rng.choice(_CHINESE_GIVEN)
        return name, name, name
    else:
        first, last = rng.choice(_CYRILLIC_FIRST), rng.choice(_CYRILLIC_LAST)
    return f"{first} {last}", f"{last}, {first}", f"{first} {last}"
