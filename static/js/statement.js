// The accessibility statement (親和力宣告): both languages are in the page; the toggle shows one.

import { wireLanguageToggle } from "./chrome.js";
import { getLang, loadI18n, onLangChange } from "./i18n.js";

function showLanguage() {
  for (const article of document.querySelectorAll("article[data-lang]")) {
    article.hidden = article.dataset.lang !== getLang();
  }
}

onLangChange(showLanguage);
await loadI18n(null);
wireLanguageToggle();
showLanguage();
