"""Short news paragraphs in the languages whose legacy encodings pages and feeds still use.

Tests encode them with Python's codecs to make pages and feeds that declare no charset, the
way old CMSs in Taiwan, China, Japan, Korea and the former Soviet Union serve them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LegacyNews:
    encoding: str
    language: str
    headline: str
    paragraphs: tuple[str, ...]

    def page(self) -> str:
        """An article page with no charset anywhere: not in a header, not in `<meta>`."""
        body = "\n".join(f"<p>{p}</p>" for p in self.paragraphs)
        return (
            "<!DOCTYPE html>\n<html><head>\n"
            f"<title>{self.headline}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="stylesheet" href="/static/site.css">\n'
            "</head><body>\n"
            '<nav><a href="/">Home</a> | <a href="/news/">News</a></nav>\n'
            f"<article><h1>{self.headline}</h1>\n{body}\n</article>\n"
            "<footer>Copyright 2025</footer>\n</body></html>\n"
        )

    def feed(self) -> str:
        """An RSS feed whose XML declaration names no encoding."""
        items = "".join(
            f"<item><title>{self.headline}</title>"
            f"<link>https://news.example/{self.language}/{n}.html</link>"
            f"<description>{p}</description>"
            "<pubDate>Wed, 05 Mar 2025 10:00:00 +0000</pubDate></item>\n"
            for n, p in enumerate(self.paragraphs)
        )
        return (
            '<?xml version="1.0"?>\n<rss version="2.0"><channel>\n'
            f"<title>{self.headline}</title><link>https://news.example/</link>\n"
            f"{items}</channel></rss>\n"
        )


LEGACY_NEWS = (
    LegacyNews(
        "big5",
        "zh",
        "東北季風增強 北部明天氣溫下降",
        (
            "中央氣象署今天表示，受到東北季風增強影響，明天北部及東北部地區氣溫將明顯下降，"
            "新北、基隆及宜蘭山區可能出現局部大雨。氣象署提醒民眾外出注意保暖，並留意強風及長浪，"
            "前往海邊活動應注意安全。",
            "交通部公路局也指出，週末期間國道車流量預估將增加，建議用路人避開尖峰時段，"
            "多利用大眾運輸工具，出發前先查詢即時路況。",
        ),
    ),
    LegacyNews(
        "gb2312",
        "zh",
        "前三季度居民人均可支配收入实际增长百分之四点九",
        (
            "国家统计局今天发布数据显示，今年前三季度全国居民人均可支配收入比上年同期名义增长"
            "百分之五点二，扣除价格因素实际增长百分之四点九。分城乡看，城镇居民人均可支配收入"
            "增长百分之四点五，农村居民人均可支配收入增长百分之六点三。",
            "专家表示，随着一系列稳就业政策持续发力，居民收入有望保持平稳增长，"
            "消费市场将进一步回暖。",
        ),
    ),
    LegacyNews(
        "gbk",
        "zh",
        "朱镕基旧居修缮完成 下月起对公众开放",
        (
            "记者从市文物局获悉，位于老城区的朱镕基旧居修缮工程日前已经完成，"
            "将于下月起免费对公众开放。修缮工作坚持修旧如旧的原则，保留了原有的青砖灰瓦和木质门窗。",
            "文物部门提醒，参观者需要提前在网上预约，每天接待人数限定在五百人以内，"
            "周一闭馆进行日常维护。",
        ),
    ),
    LegacyNews(
        "shift_jis",
        "ja",
        "日本海側で大雪　新幹線の一部列車が運休",
        (
            "気象庁によりますと、強い寒気の影響で、日本海側を中心に大雪となっている所があります。"
            "新潟県や富山県の山沿いでは、あすにかけて一日で五十センチ以上の雪が降るおそれがあり、"
            "交通への影響に警戒が必要です。",
            "ＪＲ東日本は、上越新幹線の一部列車を運休すると発表しました。高速道路でも通行止めの"
            "区間があり、国土交通省は不要不急の外出を控えるよう呼びかけています。",
        ),
    ),
    LegacyNews(
        "euc_kr",
        "ko",
        "서울·경기 북부 내일 아침까지 최대 10cm 눈",
        (
            "기상청은 오늘 밤부터 내일 아침 사이 서울과 경기 북부에 최대 10센티미터의 눈이 내릴 "
            "것으로 예보했습니다. 출근길 도로가 얼어붙을 가능성이 높아 차량 운행에 각별한 주의가 "
            "필요합니다.",
            "서울시는 제설 장비와 인력을 미리 배치하고, 대중교통 운행 시간을 연장하기로 했다고 "
            "밝혔습니다. 시민들에게는 가급적 지하철과 버스를 이용해 달라고 당부했습니다.",
        ),
    ),
    LegacyNews(
        "koi8_r",
        "ru",
        "В Москве ожидается сильный снегопад",
        (
            "В Москве в выходные ожидается сильный снегопад, сообщили в Гидрометцентре. "
            "По прогнозу синоптиков, за двое суток выпадет до половины месячной нормы осадков, "
            "а температура воздуха опустится до минус пятнадцати градусов.",
            "Власти города призвали водителей по возможности пересесть на общественный транспорт. "
            "Коммунальные службы переведены на усиленный режим работы, на улицы выйдет более "
            "десяти тысяч единиц снегоуборочной техники.",
        ),
    ),
    LegacyNews(
        "cp1251",
        "uk",
        "Нацбанк залишив облікову ставку без змін",
        (
            "Національний банк України залишив облікову ставку без змін на рівні тринадцяти "
            "відсотків річних. Таке рішення ухвалило правління регулятора за результатами "
            "засідання з питань монетарної політики.",
            "За оцінками економістів, інфляція в країні поступово сповільнюється, однак ризики "
            "для цінової стабільності залишаються високими через дефіцит електроенергії.",
        ),
    ),
)
