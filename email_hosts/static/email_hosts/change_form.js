"use strict";
// "Check connection" and "Send test email" test the saved host. Once the
// form is edited, they would test something other than what is on screen,
// so they wait for a save, and a note says so.
document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("emailhost_form");
    const note = document.getElementById("email-hosts-unsaved");
    const buttons = document.querySelectorAll("#check-connection, #send-test-email");
    if (!form || !note || buttons.length === 0) {
        return;
    }
    const waitForSave = () => {
        buttons.forEach((button) => {
            button.disabled = true;
            button.title = note.textContent.trim();
        });
        note.hidden = false;
    };
    form.addEventListener("input", waitForSave, {once: true});
    form.addEventListener("change", waitForSave, {once: true});
});
