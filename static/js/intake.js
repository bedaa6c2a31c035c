// Show the corrections only for a correction request, a restriction's or objection's details only
// for those, and the agent fields only when ticked; when ticked, the person's fields are labelled
// as the person's ("About the person"). "Add another correction" adds a row here; without
// JavaScript it asks the server for the form with one more.
// Without JavaScript everything stays visible and the server ignores what does not apply.
(function () {
  const corrections = document.getElementById("corrections");
  const objection = document.getElementById("objection");
  const agent = document.getElementById("agent-fields");
  const acting = document.getElementById("id_acting_for_someone");
  function relabel(ticked) {
    document.querySelectorAll("[data-agent-label]").forEach((el) => {
      const words = ticked ? el.dataset.agentLabel : el.dataset.ownLabel;
      const first = el.firstChild;
      if (first && first.nodeType === Node.TEXT_NODE) first.textContent = words;
      else el.prepend(words);
    });
    document.querySelectorAll("[data-agent-help]").forEach((el) => {
      el.textContent = ticked ? el.dataset.agentHelp : el.dataset.ownHelp;
    });
  }
  function update() {
    const chosen = document.querySelector('input[name="request_type"]:checked');
    corrections.hidden = !(chosen && chosen.value === "rectification");
    if (objection) objection.hidden = !(chosen && ["restriction", "objection"].includes(chosen.value));
    const scope = document.getElementById("id_objection_scope");
    if (scope) scope.hidden = !(chosen && chosen.value === "objection");
    const ticked = Boolean(acting && acting.checked);
    agent.hidden = !ticked;
    relabel(ticked);
  }
  document.querySelectorAll('input[name="request_type"]').forEach((el) => el.addEventListener("change", update));
  if (acting) acting.addEventListener("change", update);
  update();

  const add = document.getElementById("add-correction");
  const rows = document.getElementById("correction-rows");
  const template = document.getElementById("correction-template");
  const total = document.getElementById("id_c-TOTAL_FORMS");
  const max = document.getElementById("id_c-MAX_NUM_FORMS");
  if (add && rows && template && total) {
    add.addEventListener("click", (event) => {
      event.preventDefault();
      const index = Number(total.value);
      const html = template.innerHTML.replaceAll("__prefix__", String(index)).replace("__number__", String(index + 1));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      rows.lastElementChild.querySelector("input").focus();
      if (max && index + 1 >= Number(max.value)) add.hidden = true;
    });
  }

  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
