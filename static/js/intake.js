// Show the corrections only for a correction request, a restriction's or objection's details only
// for those, and the agent fields only when ticked.
// Without JavaScript everything stays visible and the server ignores what does not apply.
(function () {
  const corrections = document.getElementById("corrections");
  const objection = document.getElementById("objection");
  const agent = document.getElementById("agent-fields");
  const acting = document.getElementById("id_acting_for_someone");
  function update() {
    const chosen = document.querySelector('input[name="request_type"]:checked');
    corrections.hidden = !(chosen && chosen.value === "rectification");
    if (objection) objection.hidden = !(chosen && ["restriction", "objection"].includes(chosen.value));
    agent.hidden = !(acting && acting.checked);
  }
  document.querySelectorAll('input[name="request_type"]').forEach((el) => el.addEventListener("change", update));
  if (acting) acting.addEventListener("change", update);
  update();
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
