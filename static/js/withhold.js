// Withholding words in a record: select them in the record and the record's "Withhold…" form
// opens with the words, where they are, and their place (character offsets in the gathered text,
// which the record's text pieces add up to exactly). Without JavaScript, staff choose "Words in
// …" and type the words; the server finds each place they appear.
// Offsets count characters as the server does: Unicode code points. The browser counts a
// selection in UTF-16 code units, where an emoji or any character beyond U+FFFF is two, so each
// offset is converted (Array.from splits a string into code points).
// "Another reason" shows its text box only when chosen.
(function () {
  function offset(leaf, node, at) {
    const range = document.createRange();
    range.selectNodeContents(leaf);
    range.setEnd(node, at);
    return Array.from(range.toString()).length; // code points, not UTF-16 units
  }
  document.addEventListener("mouseup", function () {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount !== 1) return;
    const range = selection.getRangeAt(0);
    const start = range.startContainer.parentElement;
    const leaf = start && start.closest(".leaf");
    if (!leaf || !leaf.contains(range.endContainer)) return; // one text at a time
    const record = leaf.closest("[data-record]");
    const form = record && record.querySelector("form[data-withhold]");
    if (!form) return;
    const from = offset(leaf, range.startContainer, range.startOffset);
    const to = offset(leaf, range.endContainer, range.endOffset);
    if (to <= from) return;
    const what = form.querySelector("[data-what]");
    const value = "words:" + JSON.stringify([leaf.dataset.field, leaf.dataset.path]);
    if (![...what.options].some((o) => o.value === value)) return;
    what.value = value;
    form.querySelector("[data-passage]").value = Array.from(leaf.textContent)
      .slice(from, to)
      .join("");
    form.elements.start.value = from;
    form.elements.end.value = to;
    form.closest("details").open = true;
    form.querySelector("select[name=reason]").focus();
  });
  document.querySelectorAll("form.redact").forEach(function (form) {
    const passage = form.querySelector("[data-passage]");
    if (passage) {
      passage.addEventListener("input", function () {
        form.elements.start.value = ""; // typed: the server finds where
        form.elements.end.value = "";
      });
    }
    const what = form.querySelector("[data-what]");
    if (what) {
      what.addEventListener("change", function () {
        form.elements.start.value = "";
        form.elements.end.value = "";
      });
    }
    const reason = form.querySelector("select[name=reason]");
    const other = form.querySelectorAll(".other-reason");
    function toggle() {
      other.forEach((el) => (el.hidden = reason.value !== "other"));
    }
    reason.addEventListener("change", toggle);
    toggle();
  });
})();
