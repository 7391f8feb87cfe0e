"""The Open Government Data License, version 1.0 (政府資料開放授權條款－第1版): the attribution statement
every open-data package carries.

The license (National Development Council, 2015-07-27; https://data.gov.tw/license; SPDX id
``OGDL-Taiwan-1.0``) makes attribution mandatory (its section 3.2 / 三、(二): a user who does not give the
attribution statement of its Exhibit is deemed never to have been licensed) and declares itself compatible
with CC BY 4.0 (section 4.2 / 四、(二)). The Exhibit's statement has three parts: the providing agency, the
year and the dataset's name and version; a sentence that the data is released under the license; the
license's address. The wording below is the Exhibit's own (zh-TW and the official English version, as
published in the SPDX license list), with the agency, year and dataset filled in; nothing is paraphrased,
not even the English third line's colon without a space after it.
docs/agencies.md cites the sources.
"""

from __future__ import annotations

__all__ = ["LICENSE_NAME_EN", "LICENSE_NAME_ZH", "LICENSE_URL", "SPDX_ID", "attribution"]

LICENSE_URL = "https://data.gov.tw/license"
LICENSE_NAME_ZH = "政府資料開放授權條款－第1版"
LICENSE_NAME_EN = "Open Government Data License, version 1.0"
SPDX_ID = "OGDL-Taiwan-1.0"

_RELEASED_ZH = ("此開放資料依政府資料開放授權條款 (Open Government Data License) 進行公眾釋出，"
                "使用者於遵守本條款各項規定之前提下，得利用之。")
_RELEASED_EN = ("The Open Data is made available to the public under the Open Government Data License, User can "
                "make use of it when complying to the condition and obligation of its terms.")


def attribution(agency: str, year: int, dataset: str) -> tuple[str, str]:
    """The Exhibit's attribution statement filled in, in zh-TW and in English (three lines each)."""
    zh = "\n".join((f"{agency} {year} {dataset}", _RELEASED_ZH, f"政府資料開放授權條款：{LICENSE_URL}"))
    en = "\n".join((f"{agency} {year} {dataset}", _RELEASED_EN, f"Open Government Data License:{LICENSE_URL}"))
    return zh, en
