"""The Scrapy baseline of bench/scrape: follows next_url and yields every record.

    scrapy runspider bench/scrape_spider.py -a start_url=URL -O out.jsonl
"""

import json

import scrapy


class BarsSpider(scrapy.Spider):
    name = "bars"
    custom_settings = {
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "HTTPCACHE_ENABLED": False,
    }

    def start_requests(self):
        yield scrapy.Request(self.start_url)

    def parse(self, response):
        data = json.loads(response.body)
        yield from data["results"]
        if data.get("next_url"):
            yield response.follow(data["next_url"])
