// Demo client: shows what the upstream received through the firewall.
"use strict";

const out = document.getElementById("out");
document.getElementById("route").textContent = location.pathname + location.search;

document.getElementById("api").addEventListener("click", async () => {
  const response = await fetch("/api/1/sessions?demo=1");
  out.textContent = response.status + "\n" + (await response.text());
});

document.getElementById("ws").addEventListener("click", () => {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(scheme + "//" + location.host + "/sockets/1/demo");
  socket.onopen = () => socket.send("hello through the firewall");
  socket.onmessage = (event) => {
    out.textContent = "echo: " + event.data;
    socket.close();
  };
  socket.onerror = () => { out.textContent = "WebSocket failed"; };
});
