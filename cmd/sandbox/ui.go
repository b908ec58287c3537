package main

import (
	"io"
	"net/http"
)

// page is the sandbox's one-page UI: received messages per channel, refreshed
// every two seconds, and forms to play a customer. No external assets, so it
// works offline.
func (s *sandbox) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, pageHTML)
}

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Platform sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#1f2937;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center}
header h1{font-size:16px;margin:0}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px;padding:12px}
section{background:#fff;border-radius:6px;padding:10px;box-shadow:0 1px 2px rgba(0,0,0,.1);min-height:120px}
section h2{font-size:14px;margin:0 0 6px;display:flex;justify-content:space-between}
.msg{border-top:1px solid #eee;padding:4px 0;font-size:12px;word-break:break-all}
.msg b{color:#2563eb}.msg i{color:#777;font-style:normal}
pre{white-space:pre-wrap;margin:2px 0;font-size:11px;background:#f8f8f8;padding:3px}
form{display:flex;flex-wrap:wrap;gap:4px;margin-bottom:6px}
input,select,button{font:inherit;padding:3px 6px}
#out{font-size:12px;white-space:pre-wrap;background:#111;color:#9f9;padding:6px;max-height:160px;overflow:auto}
</style></head><body>
<header><h1>Platform sandbox</h1><span id="stats"></span>
<button onclick="reset()">Clear</button></header>
<main>
<section><h2>Play a customer</h2>
<form onsubmit="return play('officialaccount',{openid:oa_openid.value,text:oa_text.value})">
<b>Official account</b><input id="oa_openid" placeholder="openid" value="o_demo_user"><input id="oa_text" placeholder="message">
<button>Send</button></form>
<form onsubmit="return play('officialaccount',{openid:oa_openid.value,event:oa_event.value,scene:oa_scene.value,key:oa_scene.value,url:oa_scene.value})">
<select id="oa_event"><option>subscribe</option><option>unsubscribe</option><option>SCAN</option><option>CLICK</option><option>VIEW</option></select>
<input id="oa_scene" placeholder="scene / key / url"><button>Event</button></form>
<form onsubmit="return play('wecom',{external_userid:wc_ext.value,user_id:wc_user.value,event:'add_external_contact',state:wc_state.value})">
<b>WeCom</b><input id="wc_ext" placeholder="external_userid" value="wm_demo_customer"><input id="wc_user" placeholder="rep user_id" value="sales01">
<input id="wc_state" placeholder="state"><button>Add contact</button></form>
<form onsubmit="return play('wecom',{external_userid:wc_ext.value,open_kfid:wc_kf.value,text:wc_text.value})">
<input id="wc_kf" placeholder="open_kfid" value="wk_demo"><input id="wc_text" placeholder="客服 message"><button>Chat</button></form>
<div id="out"></div></section>
<section><h2>WeCom <span id="n_wecom"></span></h2><div id="wecom"></div></section>
<section><h2>Official account <span id="n_officialaccount"></span></h2><div id="officialaccount"></div></section>
<section><h2>SMS <span id="n_sms"></span></h2><div id="sms"></div></section>
<section><h2>Email <span id="n_email"></span></h2><div id="email"></div></section>
</main>
<script>
function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c]})}
function play(kind,body){
  fetch('/api/play/'+kind,{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)})
  .then(function(r){return r.text()}).then(function(t){document.getElementById('out').textContent=t;refresh()});
  return false}
function reset(){fetch('/api/messages',{method:'DELETE'}).then(refresh)}
function refresh(){
  ['wecom','officialaccount','sms','email'].forEach(function(ch){
    fetch('/api/messages?limit=50&channel='+ch).then(function(r){return r.json()}).then(function(list){
      var html='';list.reverse().forEach(function(m){
        html+='<div class="msg"><i>'+esc(m.time.substr(11,8))+'</i> <b>'+esc(m.to)+'</b> '+esc(m.api)+' / '+esc(m.type)+
        '<pre>'+esc(JSON.stringify(m.body,null,1))+'</pre></div>'});
      document.getElementById(ch).innerHTML=html||'<i>nothing yet</i>'})});
  fetch('/api/stats').then(function(r){return r.json()}).then(function(st){
    for(var ch in st){var el=document.getElementById('n_'+ch);if(el)el.textContent=st[ch].received+' received'}})}
refresh();setInterval(refresh,2000);
</script></body></html>
`
